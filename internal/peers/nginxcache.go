package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CacheConfig returns the directives of nginx's http block for a caching
// proxy on listen in
// front of a GoLive origin (host:port), keeping its cache in cacheDir:
// the configuration the README recommends. What a CDN needs is all here:
// the cache key is the whole URL with its query string (blocking playlist
// reloads differ only there), proxy_cache_lock makes many viewers asking
// for the same new part or playlist one origin request, the origin's own
// Cache-Control decides how long each answer is kept, blocking reloads
// are given time to be answered, and the chat WebSocket passes through.
func CacheConfig(listen, origin, cacheDir, accessLog string) string {
	return fmt.Sprintf(`    log_format cachelog '$upstream_cache_status $status $request_uri';
    access_log %s cachelog;
    proxy_cache_path %s levels=1:2 keys_zone=golive:10m max_size=1g inactive=10m use_temp_path=off;
    upstream golive_origin {
        server %s;
        keepalive 64;
    }
    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      '';
    }
    server {
        listen %s;
        location / {
            proxy_pass http://golive_origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_cache golive;
            proxy_cache_key $scheme$host$request_uri;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10s;
            proxy_cache_lock_age 10s;
            proxy_cache_revalidate on;
            proxy_cache_valid 404 1s;
            proxy_read_timeout 30s;
            add_header X-Cache-Status $upstream_cache_status always;
        }
        location = /api/status {
            proxy_pass http://golive_origin;
            proxy_set_header Host $http_host;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /chat/ws {
            proxy_pass http://golive_origin;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
        }
    }
`, accessLog, cacheDir, origin, listen)
}

// NginxCache is nginx as a caching reverse proxy (CacheConfig) in front
// of an origin, on a free loopback port.
type NginxCache struct {
	*Nginx
}

// StartNginxCache starts nginx caching origin (host:port) and returns
// once it listens. It is stopped by t.Cleanup.
func StartNginxCache(t testing.TB, origin string) *NginxCache {
	t.Helper()
	n := &Nginx{t: t, bin: RequireTool(t, "nginx"), dir: t.TempDir()}
	t.Cleanup(n.Stop)
	start := func(addr string) error {
		n.addr = addr
		var temps strings.Builder
		for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
			fmt.Fprintf(&temps, "    %s_temp_path %s;\n", d, filepath.Join(n.dir, d+"_temp"))
		}
		conf := fmt.Sprintf("daemon off;\nmaster_process off;\nworker_processes 1;\nworker_rlimit_nofile 16384;\n"+
			"error_log %s warn;\npid %s;\nevents { worker_connections 8192; }\nhttp {\n%s%s}\n",
			filepath.Join(n.dir, "error.log"), filepath.Join(n.dir, "nginx.pid"), temps.String(),
			CacheConfig(n.addr, origin, filepath.Join(n.dir, "cache"), filepath.Join(n.dir, "access.log")))
		n.conf = filepath.Join(n.dir, "nginx.conf")
		if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
		return n.start()
	}
	if _, err := onFreePort(start, portInUse); err != nil {
		t.Fatalf("nginx cache: %v", err)
	}
	return &NginxCache{n}
}

// URL returns the proxy's URL of path.
func (c *NginxCache) URL(path string) string { return "http://" + c.addr + path }

// Upstream counts the requests nginx passed to the origin for URIs that
// match (MISS, EXPIRED, UPDATING, REVALIDATED or BYPASS in its access
// log, or no cache status), and the ones it answered from its cache
// (HIT).
func (c *NginxCache) Upstream(match func(uri string) bool) (origin, hits int) {
	b, _ := os.ReadFile(filepath.Join(c.dir, "access.log"))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !match(f[2]) {
			continue
		}
		if f[0] == "HIT" {
			hits++
		} else {
			origin++
		}
	}
	return origin, hits
}

// AccessLog returns nginx's access log so far: cache status, HTTP status
// and URI per request.
func (c *NginxCache) AccessLog() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "access.log"))
	return string(b)
}

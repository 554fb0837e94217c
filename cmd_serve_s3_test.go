package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// noAWSEnv clears the AWS credential chain's environment (and keeps it
// from asking the instance metadata address).
func noAWSEnv(t *testing.T) {
	for _, kv := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(kv, "")
		os.Unsetenv(kv)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

func TestServeS3BadInput(t *testing.T) {
	noAWSEnv(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--s3", "http://bucket/x"}, "want s3://BUCKET/PREFIX"},
		{[]string{"--s3", "s3://UPPER/x"}, "bucket name"},
		{[]string{"--s3", "s3://live/../x"}, "prefix element"},
		{[]string{"--s3-keep"}, "need --s3"},
		{[]string{"--s3", "s3://live/x", "--s3-endpoint", "127.0.0.1:9000"}, "want http(s)://HOST[:PORT]"},
		{[]string{"--s3", "s3://live/x"}, "no S3 credentials found"},
	} {
		var stdout, stderr bytes.Buffer
		code := runServe(context.Background(), append([]string{"--rtmp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--data-dir", t.TempDir()}, c.args...), &stdout, &stderr)
		require.Equal(t, exitUsage, code, "%v: %s", c.args, stderr.String())
		require.Empty(t, stdout.String())
		require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
		require.Contains(t, stderr.String(), c.want)
	}
}

func TestServeS3RefusedAtStart(t *testing.T) {
	noAWSEnv(t)
	g := peers.StartVersityGW(t, "live")
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	for _, c := range []struct {
		secret, url, want string
	}{
		{"wrong", "s3://live/x", "access denied"},
		{g.SecretKey, "s3://missing/x", "no such bucket"},
	} {
		t.Setenv("AWS_SECRET_ACCESS_KEY", c.secret)
		var stdout, stderr bytes.Buffer
		code := runServe(context.Background(), []string{"--rtmp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--data-dir", t.TempDir(), "--s3", c.url, "--s3-endpoint", g.Endpoint()}, &stdout, &stderr)
		require.Equal(t, 1, code, stderr.String())
		require.Empty(t, stdout.String(), "nothing listens")
		require.Contains(t, stderr.String(), c.want)
	}
}

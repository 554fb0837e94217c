package peers

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// onFreePort starts a peer on a free loopback address ("127.0.0.1:PORT")
// and returns that address. Another process may take the port between
// its pick and the peer's bind: while retry says start's error may be
// that, it tries again on another port, five times at most.
func onFreePort(start func(addr string) error, retry func(error) bool) (string, error) {
	var err error
	for range 5 {
		port, perr := freePort()
		if perr != nil {
			return "", perr
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = start(addr); err == nil {
			return addr, nil
		}
		if !retry(err) {
			break
		}
	}
	return "", err
}

// restartOnPort calls start until it succeeds, every 100 ms while retry
// says its error may pass (the port was the peer's a moment ago; another
// process may race for it), for at most within.
func restartOnPort(start func() error, within time.Duration, retry func(error) bool) error {
	deadline := time.Now().Add(within)
	for {
		err := start()
		if err == nil || !retry(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// portInUse reports whether a peer's start failed because its port was
// taken.
func portInUse(err error) bool { return strings.Contains(err.Error(), "in use") }

// anyError retries whatever the error: a peer that does not say why it
// could not bind.
func anyError(error) bool { return true }

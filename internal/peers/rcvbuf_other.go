//go:build !unix

package peers

// setReadBuffer is left to SetReadBuffer on the accepted socket here.
func setReadBuffer(uintptr, int) {}

// Package ladder makes the bundled server's lower renditions: it decodes
// the source once, scales it once per rung and encodes each rung with the
// encoder package, forcing keyframes on the source's keyframes so every
// rung's segments line up. The top rung (the source itself) is not its
// business: the server passes it through untouched.
package ladder

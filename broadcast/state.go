package broadcast

// State is where a broadcast stands, as the GUI and the status line show it.
type State int

// The broadcast states. Congested is live, but a link carries less than
// the encoder makes: media waits more than half a second to reach a
// server (see publisher.RTMPStats.Congested).
const (
	StateOffline State = iota
	StateConnecting
	StateLive
	StateReconnecting
	StateCongested
)

// String returns the state's name as shown to users.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateLive:
		return "live"
	case StateReconnecting:
		return "reconnecting"
	case StateCongested:
		return "congested"
	}
	return "offline"
}

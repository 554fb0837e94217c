package broadcast

// State is where a broadcast stands, as the GUI and the status line show it.
type State int

// The broadcast states.
const (
	StateOffline State = iota
	StateConnecting
	StateLive
	StateReconnecting
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
	}
	return "offline"
}

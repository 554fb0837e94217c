package peers

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func TestNATSServerWithJetStreamRestarts(t *testing.T) {
	n := StartNATS(t)
	nc, err := nats.Connect(n.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	_, err = js.Publish(ctx, "t.a", []byte("kept"))
	require.NoError(t, err)

	addr := n.Addr()
	n.Stop()
	n.Start()
	require.Equal(t, addr, n.Addr())
	require.Eventually(t, nc.IsConnected, 10*time.Second, 20*time.Millisecond, "the client reconnects")
	st, err := js.Stream(ctx, "T")
	require.NoError(t, err)
	msg, err := st.GetLastMsgForSubject(ctx, "t.a")
	require.NoError(t, err)
	require.Equal(t, "kept", string(msg.Data), "JetStream's store survives the restart")
}

func TestNATSServerWithoutJetStreamWantsPassword(t *testing.T) {
	n := StartNATS(t, NATSOptions{NoJetStream: true, User: "golive", Password: "s3cret"})
	nc, err := nats.Connect(n.URL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	require.ErrorIs(t, err, jetstream.ErrJetStreamNotEnabled)

	_, err = nats.Connect("nats://golive:wrong@" + n.Addr())
	require.ErrorContains(t, err, "Authorization Violation")
}

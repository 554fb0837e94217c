package publisher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/yutopp/go-amf0"
	rtmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"
)

// reply is a command the server sent us.
type reply struct {
	name   string
	txn    int64
	args   []interface{}
	status Status
}

// isErrorStatus reports an onStatus that refuses or ends the stream.
func (r reply) isErrorStatus() bool { return r.name == "onStatus" && r.status.IsError() }

// publish runs connect, releaseStream, FCPublish, createStream and publish
// and waits for NetStream.Publish.Start.
func (c *rtmpConn) publish(ctx context.Context) error {
	t := c.cfg.target
	// Our chunk size goes up before the first message: the change
	// happens-before the writer goroutine reads it (channel send).
	if err := c.cs.SelfState().SetChunkSize(chunkSize); err != nil {
		return err
	}
	if err := c.cs.Write(ctx, 2, 0, &rtmp.ChunkMessage{Message: &rtmpmsg.SetChunkSize{ChunkSize: chunkSize}}); err != nil {
		return err
	}
	connect := map[string]interface{}{
		"app":      t.App,
		"type":     "nonprivate",
		"flashVer": "FMLE/3.0 (compatible; GoLive)",
		"tcUrl":    t.TCURL,
	}
	if err := c.command(ctx, 0, "connect", 1, connect); err != nil {
		return err
	}
	r, err := c.await(ctx, func(r reply) bool { return r.txn == 1 && (r.name == "_result" || r.name == "_error") })
	if err != nil {
		return fmt.Errorf("connect to application %q: %w", t.App, err)
	}
	if r.name == "_error" || r.status.IsError() {
		return fmt.Errorf("connect to application %q: %w: %s", t.App, ErrRefused, r.status)
	}
	if err := c.command(ctx, 0, "releaseStream", 2, nil, t.Key); err != nil {
		return err
	}
	if err := c.command(ctx, 0, "FCPublish", 3, nil, t.Key); err != nil {
		return err
	}
	if err := c.command(ctx, 0, "createStream", 4, nil); err != nil {
		return err
	}
	r, err = c.await(ctx, func(r reply) bool { return r.txn == 4 && (r.name == "_result" || r.name == "_error") })
	if err != nil {
		return fmt.Errorf("createStream: %w", err)
	}
	id, ok := streamIDFromArgs(r.args)
	if r.name == "_error" || !ok {
		return fmt.Errorf("createStream: %w: %s", ErrRefused, r.status)
	}
	c.streamID = id
	if err := c.command(ctx, id, "publish", 5, nil, t.Key, "live"); err != nil {
		return err
	}
	r, err = c.await(ctx, func(r reply) bool {
		return r.name == "onStatus" || (r.txn == 5 && r.name == "_error")
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if r.name == "_error" || r.status.IsError() {
		return fmt.Errorf("publish %s: %w: %s", t.Redacted(), ErrRefused, r.status)
	}
	if r.status.Code != "NetStream.Publish.Start" {
		c.cfg.log.Debug("publish answered with an unusual status", "status", r.status.String())
	}
	return nil
}

// await waits for the reply that match accepts, or an error status,
// skipping others.
func (c *rtmpConn) await(ctx context.Context, match func(reply) bool) (reply, error) {
	accept := func(r reply) bool { return match(r) || r.isErrorStatus() }
	for {
		select {
		case r := <-c.replies:
			if accept(r) {
				return r, nil
			}
		case <-c.readDone:
			// Replies sent before the close are still worth reading.
			for len(c.replies) > 0 {
				if r := <-c.replies; accept(r) {
					return r, nil
				}
			}
			switch {
			case errors.Is(c.readErr, ErrProtocol):
				return reply{}, c.readErr
			case ctx.Err() != nil:
				return reply{}, ctx.Err()
			case errors.Is(c.readErr, os.ErrDeadlineExceeded):
				return reply{}, fmt.Errorf("%w: %v", ErrTimeout, c.readErr)
			}
			return reply{}, fmt.Errorf("%w: the server closed the connection (%v)", ErrRefused, c.readErr)
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
	}
}

// command writes an AMF0 command on the control chunk stream.
func (c *rtmpConn) command(ctx context.Context, streamID uint32, name string, txn int64, args ...interface{}) error {
	var buf bytes.Buffer
	enc := amf0.NewEncoder(&buf)
	for _, a := range args {
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
	}
	return c.write(ctx, csidCommand, streamID, 0, &rtmpmsg.CommandMessage{
		CommandName: name, TransactionID: txn, Encoding: rtmpmsg.EncodingTypeAMF0, Body: &buf,
	})
}

// unpublish says goodbye politely (FCUnpublish, deleteStream) and waits
// until what was written reached the socket, or ctx ends.
func (c *rtmpConn) unpublish(ctx context.Context) error {
	// Media first: go-rtmp interleaves chunk streams, and a server that
	// sees deleteStream early drops what is still in flight.
	for _, csid := range []int{csidAudio, csidData, csidVideo} {
		if _, err := c.cs.NewChunkWriter(ctx, csid); err != nil {
			return err
		}
	}
	_ = c.command(ctx, 0, "FCUnpublish", 6, nil, c.cfg.target.Key)
	_ = c.command(ctx, 0, "deleteStream", 7, nil, float64(c.streamID))
	_, err := c.cs.NewChunkWriter(ctx, csidCommand)
	return err
}

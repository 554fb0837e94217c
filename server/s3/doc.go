// Package s3 pushes the stream to S3-compatible object storage, so that
// any CDN or static host can serve it beyond the LAN: the init sections,
// every complete segment (object storage cannot hold a request open, so
// no parts), media playlists without parts, the multivariant playlist
// and the MPD, under the same relative names as on the origin. Uploads
// go through a bounded queue with retries and backoff; when storage is
// down, ingest, transcoding and LAN viewers never wait for it, and
// segments that could not be kept are counted and marked as gaps.
package s3

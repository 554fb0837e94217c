package s3

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// ErrBadURL is returned by ParseURL and ParseEndpoint for a location they
// cannot use.
var ErrBadURL = errors.New("bad s3 location")

// bucketName is what S3 accepts as a bucket name: 3-63 lowercase
// letters, digits, dots and hyphens, starting and ending with a letter
// or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// prefixElement is what an element of the key prefix may be.
var prefixElement = regexp.MustCompile(`^[A-Za-z0-9_.=+-]{1,128}$`)

// Location is where in a bucket the stream goes.
type Location struct {
	// Bucket is the bucket's name.
	Bucket string
	// Prefix is the key prefix without leading or trailing slash ("" for
	// the bucket's root).
	Prefix string
}

// Key returns the object key of a name relative to the prefix.
func (l Location) Key(name string) string {
	if l.Prefix == "" {
		return name
	}
	return l.Prefix + "/" + name
}

// String writes the location as s3://BUCKET/PREFIX.
func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Prefix }

// ParseURL reads s3://BUCKET/PREFIX (the prefix is optional; a trailing
// slash is ignored).
func ParseURL(s string) (Location, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Location{}, fmt.Errorf("%w: %q: want s3://BUCKET/PREFIX", ErrBadURL, s)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !bucketName.MatchString(bucket) || strings.Contains(bucket, "..") {
		return Location{}, fmt.Errorf("%w: %q: bucket name must be 3-63 lowercase letters, digits, dots or hyphens", ErrBadURL, s)
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		for _, el := range strings.Split(prefix, "/") {
			if !prefixElement.MatchString(el) || el == "." || el == ".." {
				return Location{}, fmt.Errorf("%w: %q: prefix element %q (letters, digits and _.=+- only)", ErrBadURL, s, el)
			}
		}
	}
	return Location{Bucket: bucket, Prefix: prefix}, nil
}

// ParseEndpoint checks an --s3-endpoint URL: http or https, a host, and
// no path, query or credentials.
func ParseEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: endpoint %q: want http(s)://HOST[:PORT]", ErrBadURL, s)
	}
	return u.Scheme + "://" + u.Host, nil
}

package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// ErrNoCredentials is returned by LoadConfig when the default credential
// chain (environment, shared credentials and config files, SSO, the
// instance's role) finds nothing.
var ErrNoCredentials = errors.New("no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials)")

// ErrBucket is returned by Uploader.Initialize when the bucket cannot be
// used: it does not exist, or the credentials are refused.
var ErrBucket = errors.New("s3 bucket unusable")

// LoadConfig loads aws-sdk-go-v2's default configuration for region (""
// takes the configured one, or us-east-1 when there is none) and checks
// that its credential chain finds credentials.
func LoadConfig(ctx context.Context, region string) (aws.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("s3: aws configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Credentials == nil {
		return aws.Config{}, ErrNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, ErrNoCredentials // the chain's own error lists every source it tried
	}
	return cfg, nil
}

// newClient makes the S3 client: path-style addressing at endpoint when
// one is given (MinIO, Ceph, R2, Backblaze, versitygw …), no retries of
// its own (the uploader retries with backoff), and checksums only where
// a request needs them (S3-compatible stores differ in what they accept).
func newClient(cfg aws.Config, endpoint string) *awss3.Client {
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
		o.RetryMaxAttempts = 1
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
}

// checkBucket asks for the bucket, so that a missing bucket or refused
// credentials are reported at start, not mid-stream.
func checkBucket(ctx context.Context, c *awss3.Client, loc Location) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := c.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(loc.Bucket)})
	if err == nil {
		return nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return fmt.Errorf("%w: %s: no such bucket", ErrBucket, loc)
		case http.StatusForbidden, http.StatusUnauthorized:
			return fmt.Errorf("%w: %s: access denied (check the credentials and their rights on the bucket)", ErrBucket, loc)
		case http.StatusBadRequest:
			return fmt.Errorf("%w: %s: refused (HTTP 400: wrong region or credentials?)", ErrBucket, loc)
		}
	}
	return fmt.Errorf("%w: %s: %w", ErrBucket, loc, rootCause(err))
}

// rootCause returns the innermost error of err's chain (the SDK wraps a
// refused connection in four layers of operation names).
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

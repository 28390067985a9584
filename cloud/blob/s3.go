package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Config says how to reach an S3 API.
type S3Config struct {
	// Endpoint is the base URL of the S3 API ("http://127.0.0.1:7070");
	// "" means AWS itself.
	Endpoint string
	// Region is the signing region; "" means $AWS_REGION, else "us-east-1".
	Region string
	// PathStyle addresses buckets as ENDPOINT/BUCKET/KEY rather than
	// BUCKET.ENDPOINT/KEY (needed by MinIO and versitygw).
	PathStyle bool
	// Prefix is put before every bucket name ("test-1a2b-" gives
	// "test-1a2b-raw"), so that several deployments or tests share a server.
	Prefix string
	// AccessKey and SecretKey, when both set, are used instead of the
	// standard AWS credential chain (environment AWS_ACCESS_KEY_ID /
	// AWS_SECRET_ACCESS_KEY, shared config files, instance roles).
	AccessKey, SecretKey string
	// HTTPClient, when set, carries the requests.
	HTTPClient *http.Client
}

// S3 is a Store over an S3 API.
type S3 struct {
	client  *s3.Client
	presign *s3.PresignClient
	prefix  string
}

var _ Store = (*S3)(nil)

// NewS3 makes a client for the S3 API described by c. It does not dial.
func NewS3(ctx context.Context, c S3Config) (*S3, error) {
	var opts []func(*config.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.AccessKey != "" && c.SecretKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, "")))
	}
	if c.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(c.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(strings.TrimSuffix(c.Endpoint, "/"))
		}
		o.UsePathStyle = c.PathStyle
		// Checksums only when the operation requires them: S3-compatible
		// servers differ in their support of the newer trailing checksums.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3{client: client, presign: s3.NewPresignClient(client), prefix: c.Prefix}, nil
}

// Bucket is the server-side name of bucket (with the configured prefix).
func (s *S3) Bucket(bucket string) string { return s.prefix + bucket }

func (s *S3) check(bucket, key string) error {
	if err := validBucket(s.Bucket(bucket)); err != nil {
		return err
	}
	return ValidKey(key)
}

// MakeBucket creates the bucket unless it exists.
func (s *S3) MakeBucket(ctx context.Context, bucket string) error {
	name := s.Bucket(bucket)
	if err := validBucket(name); err != nil {
		return err
	}
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)})
	if err == nil {
		return nil
	}
	_, err = s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		var owned *types.BucketAlreadyOwnedByYou
		var exists *types.BucketAlreadyExists
		if errors.As(err, &owned) || errors.As(err, &exists) {
			return nil
		}
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	return nil
}

// RemoveBucket deletes every object in the bucket, then the bucket. A
// missing bucket is not an error. Meant for tests and tear-down.
func (s *S3) RemoveBucket(ctx context.Context, bucket string) error {
	name := s.Bucket(bucket)
	keys, err := s.List(ctx, bucket, "")
	if err != nil {
		if isNoBucket(err) {
			return nil
		}
		return err
	}
	for _, k := range keys {
		if err := s.Delete(ctx, bucket, k); err != nil {
			return err
		}
	}
	if _, err := s.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil && !isNoBucket(err) {
		return fmt.Errorf("delete bucket %q: %w", name, err)
	}
	return nil
}

// Put uploads the object.
func (s *S3) Put(ctx context.Context, bucket, key string, data []byte, contentType string) error {
	if err := s.check(bucket, key); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if contentType == "" {
		contentType = ContentType(key)
	}
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.Bucket(bucket)),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Get downloads the object.
func (s *S3) Get(ctx context.Context, bucket, key string) ([]byte, string, error) {
	if err := s.check(bucket, key); err != nil {
		return nil, "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.Bucket(bucket)),
		Key:    aws.String(key),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("get %s/%s: %w", bucket, key, ErrNotFound)
		}
		return nil, "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	ct := aws.ToString(out.ContentType)
	if ct == "" {
		ct = ContentType(key)
	}
	return b, ct, nil
}

// Exists asks for the object's head.
func (s *S3) Exists(ctx context.Context, bucket, key string) (bool, error) {
	if err := s.check(bucket, key); err != nil {
		return false, fmt.Errorf("exists %s/%s: %w", bucket, key, err)
	}
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.Bucket(bucket)),
		Key:    aws.String(key),
	})
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("exists %s/%s: %w", bucket, key, err)
	}
	return true, nil
}

// Delete removes the object; an absent object is not an error.
func (s *S3) Delete(ctx context.Context, bucket, key string) error {
	if err := s.check(bucket, key); err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.Bucket(bucket)),
		Key:    aws.String(key),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// List pages through ListObjectsV2 and returns the keys under prefix, sorted.
func (s *S3) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	if err := validBucket(s.Bucket(bucket)); err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	if err := validPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket(bucket))}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil // S3 lists in UTF-8 binary order, which is sorted
}

// URL presigns a GET of the object valid for ttl (at least a second).
func (s *S3) URL(ctx context.Context, bucket, key string, ttl time.Duration) (string, error) {
	if err := s.check(bucket, key); err != nil {
		return "", fmt.Errorf("url %s/%s: %w", bucket, key, err)
	}
	if ttl < time.Second {
		ttl = time.Second
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.Bucket(bucket)),
		Key:    aws.String(key),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("url %s/%s: %w", bucket, key, err)
	}
	return req.URL, nil
}

func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae apiError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	return false
}

func isNoBucket(err error) bool {
	var nb *types.NoSuchBucket
	if errors.As(err, &nb) {
		return true
	}
	var ae apiError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket"
}

// apiError is the part of smithy.APIError used here (declared locally so
// that this package needs no direct import of smithy-go).
type apiError interface{ ErrorCode() string }

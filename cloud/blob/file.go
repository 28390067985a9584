package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Filer is implemented by stores that move objects to and from files
// without holding them in memory (orthophotos can be larger than it).
// Local and S3 implement it.
type Filer interface {
	// PutFile writes the file at path under key.
	PutFile(ctx context.Context, bucket, key, path, contentType string) error
	// GetFile writes the object to the file at path (created or
	// truncated) and returns its content type; ErrNotFound if absent.
	GetFile(ctx context.Context, bucket, key, path string) (string, error)
}

// Putter is what PutFile needs of a store (a Store, or the narrower
// interface of a writer such as the ingest Saver).
type Putter interface {
	Put(ctx context.Context, bucket, key string, data []byte, contentType string) error
}

// PutFile writes the file at path under key in s, streaming it when s is a
// Filer and reading it whole otherwise.
func PutFile(ctx context.Context, s Putter, bucket, key, path, contentType string) error {
	if f, ok := s.(Filer); ok {
		return f.PutFile(ctx, bucket, key, path, contentType)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return s.Put(ctx, bucket, key, b, contentType)
}

// GetFile writes the object to the file at path, streaming it when s is a
// Filer, and returns its content type.
func GetFile(ctx context.Context, s Store, bucket, key, path string) (string, error) {
	if f, ok := s.(Filer); ok {
		return f.GetFile(ctx, bucket, key, path)
	}
	b, ct, err := s.Get(ctx, bucket, key)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return ct, nil
}

// PutFile copies the file at path to the object, atomically.
func (l *Local) PutFile(ctx context.Context, bucket, key, path, contentType string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := l.Path(bucket, key)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	if err := l.putFrom(p, f); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// GetFile copies the object to the file at path.
func (l *Local) GetFile(ctx context.Context, bucket, key, path string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	p, err := l.Path(bucket, key)
	if err != nil {
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	src, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscallENOTDIR) {
			return "", fmt.Errorf("get %s/%s: %w", bucket, key, ErrNotFound)
		}
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer src.Close()
	if st, err := src.Stat(); err == nil && st.IsDir() {
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, ErrNotFound)
	}
	if err := copyToFile(path, src); err != nil {
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return ContentType(key), nil
}

// PutFile uploads the file at path in one PUT (S3 takes up to 5 GiB so).
func (s *S3) PutFile(ctx context.Context, bucket, key, path, contentType string) error {
	if err := s.check(bucket, key); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if contentType == "" {
		contentType = ContentType(key)
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.Bucket(bucket)),
		Key:           aws.String(key),
		Body:          f,
		ContentLength: aws.Int64(st.Size()),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// GetFile downloads the object to the file at path.
func (s *S3) GetFile(ctx context.Context, bucket, key, path string) (string, error) {
	if err := s.check(bucket, key); err != nil {
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket(bucket)), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return "", fmt.Errorf("get %s/%s: %w", bucket, key, ErrNotFound)
		}
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	if err := copyToFile(path, out.Body); err != nil {
		return "", fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	ct := aws.ToString(out.ContentType)
	if ct == "" {
		ct = ContentType(key)
	}
	return ct, nil
}

func copyToFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

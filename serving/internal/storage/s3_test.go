package storage

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// isolateAWS hides the machine's AWS files, variables and instance
// metadata from the SDK for the rest of the test.
func isolateAWS(t *testing.T) {
	for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// motoS3 starts moto's S3 server (tests/s3_server.py, with the venv's
// Python; make test's venv has moto[server]) on loopback and points the AWS
// variables at it, as http://localhost:<port>: only path-style requests
// reach it (<bucket>.localhost does not resolve). Without moto the test
// skips, or fails under PREDICTOR_REQUIRE_TF_TESTS=1.
func motoS3(t *testing.T) *s3.Client {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	python := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(filepath.Join(root, ".venv", "bin", "moto_server")); err != nil {
		msg := "no moto server in " + filepath.Join(root, ".venv") + "; run scripts/setup_venv.sh (make venv)"
		if os.Getenv("PREDICTOR_REQUIRE_TF_TESTS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	port := freePort(t)
	cmd := exec.Command(python, filepath.Join(root, "tests", "s3_server.py"), fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	endpoint := fmt.Sprintf("http://localhost:%d", port)
	waitHTTP(t, "moto", endpoint+"/moto-api/", 60*time.Second)
	isolateAWS(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func putS3(t *testing.T, c *s3.Client, bucket, key, content string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(content)})
	if err != nil {
		t.Fatal(err)
	}
}

func TestS3VersionsAndFetch(t *testing.T) {
	ctx := context.Background()
	c := motoS3(t)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("models")}); err != nil {
		t.Fatal(err)
	}
	seedVersions(func(key, content string) { putS3(t, c, "models", key, content) })
	checkVersionsAndFetch(t, "s3")

	empty, err := New(ctx, "s3://models/zoo/none", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vs, err := empty.Versions(ctx); err != nil || len(vs) != 0 {
		t.Errorf("Versions() of an empty prefix = %v, %v", vs, err)
	}
	missing, err := New(ctx, "s3://no-such-bucket/m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Versions(ctx); err == nil || err.Error() != "s3://no-such-bucket/m: bucket s3://no-such-bucket does not exist" {
		t.Errorf("Versions() on a missing bucket = %v", err)
	}
}

func TestS3BadBasePaths(t *testing.T) {
	isolateAWS(t)
	_, err := New(context.Background(), "s3:///models", Options{})
	if err == nil || !strings.Contains(err.Error(), "model base path s3:///models: no bucket name") {
		t.Errorf("New(no bucket) = %v", err)
	}
	_, err = New(context.Background(), "s3://models/m", Options{})
	if err == nil || !strings.Contains(err.Error(), "model base path s3://models/m: no AWS credentials") ||
		!strings.Contains(err.Error(), "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") {
		t.Errorf("New(no credentials) = %v", err)
	}
}

func TestS3Put(t *testing.T) {
	ctx := context.Background()
	c := motoS3(t)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("logs")}); err != nil {
		t.Fatal(err)
	}
	checkPut(t, "s3", func(bucket, key string) (string, error) {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return "", err
		}
		defer obj.Body.Close()
		b, err := io.ReadAll(obj.Body)
		return string(b), err
	})
}

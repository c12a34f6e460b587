package storage

import (
	"context"
	"fmt"
	"net/http"
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not start on %s: %v", endpoint, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
	// 1: complete; 2: claimed and half uploaded (no marker); 3: marker
	// says a file is bigger than it is; 10: complete; x: not a version.
	for _, v := range []string{"1", "10"} {
		putS3(t, c, "models", "zoo/imgclf/"+v+"/_CLAIMED", "{}")
		putS3(t, c, "models", "zoo/imgclf/"+v+"/saved_model.pb", "graph")
		putS3(t, c, "models", "zoo/imgclf/"+v+"/variables/variables.index", "idx")
		putS3(t, c, "models", "zoo/imgclf/"+v+"/assets/labels.txt", "cat\ndog\n")
		putS3(t, c, "models", "zoo/imgclf/"+v+"/_COMPLETE", `{"files": {"saved_model.pb": 5, "variables/variables.index": 3, "assets/labels.txt": 8}}`)
	}
	putS3(t, c, "models", "zoo/imgclf/2/_CLAIMED", "{}")
	putS3(t, c, "models", "zoo/imgclf/2/saved_model.pb", "graph")
	putS3(t, c, "models", "zoo/imgclf/3/saved_model.pb", "gra")
	putS3(t, c, "models", "zoo/imgclf/3/_COMPLETE", `{"files": {"saved_model.pb": 5}}`)
	putS3(t, c, "models", "zoo/imgclf/x/saved_model.pb", "graph")
	putS3(t, c, "models", "zoo/imgclf2/7/saved_model.pb", "other model")

	src, err := New(ctx, "s3://models/zoo/imgclf", Options{})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := src.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(vs); got != "[{1 s3://models/zoo/imgclf/1} {3 s3://models/zoo/imgclf/3} {10 s3://models/zoo/imgclf/10}]" {
		t.Errorf("Versions() = %s", got)
	}

	tmp := t.TempDir()
	dir, cleanup, err := src.Fetch(ctx, vs[2], tmp)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := os.ReadFile(filepath.Join(dir, "assets", "labels.txt"))
	if err != nil || string(labels) != "cat\ndog\n" {
		t.Errorf("labels.txt = %q, %v", labels, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ClaimMarker)); err == nil {
		t.Error("the claim marker was downloaded")
	}
	cleanup()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", dir)
	}

	_, _, err = src.Fetch(ctx, vs[1], tmp)
	if err == nil || !strings.Contains(err.Error(), "saved_model.pb has 3 bytes, the marker says 5") {
		t.Errorf("Fetch(corrupt version 3) = %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a failed fetch left %d entries in the temp dir", len(left))
	}

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

package imageupload_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestClassifyImage(t *testing.T) {
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{MaxBodyBytes: 2048, MaxImagePixels: 1000})
	multi := func(files ...string) (string, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("note", "ignored")
		for i, f := range files {
			w, _ := mw.CreateFormFile("image", fmt.Sprintf("f%d.png", i))
			w.Write([]byte(f))
		}
		mw.Close()
		return mw.FormDataContentType(), buf.Bytes()
	}
	tests := []struct {
		name, query, contentType string
		body                     []byte
		wantStatus               int
		want                     string
	}{
		{"raw png", "", "image/png", []byte(servingtest.PNG), 200,
			`{"model":"imgclf","version":"1","results":[{"predictions":[{"label":"png","score":0.9},{"label":"other","score":0.1}]}]}`},
		{"top 1", "?k=1", "image/jpeg", []byte(servingtest.JPEG), 200, `"predictions":[{"label":"other","score":0.9}]}]}`},
		{"bad k", "?k=0", "image/png", []byte(servingtest.PNG), 400, "k=\\\"0\\\""},
		{"empty body", "", "image/png", nil, 400, "body is empty"},
		{"not an image", "", "application/octet-stream", []byte("GET / HTTP/1.1"), 400, "not a JPEG, PNG, GIF or BMP"},
		{"truncated jpeg", "", "image/jpeg", []byte(servingtest.JPEG)[:len(servingtest.JPEG)-30], 400, "truncated"},
		{"bomb", "", "image/png", servingtest.BombPNG(50000, 50000), 413, "over the limit of 1000"},
		{"oversized body", "", "image/png", append([]byte(servingtest.PNG), make([]byte, 4096)...), 413, "larger than 2048 bytes"},
		{"unsupported type", "", "text/plain", []byte(servingtest.PNG), 415, "text/plain"},
	}
	ct, body := multi(servingtest.PNG, servingtest.JPEG)
	tests = append(tests, struct {
		name, query, contentType string
		body                     []byte
		wantStatus               int
		want                     string
	}{"multipart", "?k=1", ct, body, 200, `"results":[{"filename":"f0.png","predictions":[{"label":"png","score":0.9}]},{"filename":"f1.png","predictions":[{"label":"other","score":0.9}]}]`})
	ct, body = multi()
	tests = append(tests, struct {
		name, query, contentType string
		body                     []byte
		wantStatus               int
		want                     string
	}{"multipart without files", "", ct, body, 400, "no file"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(url+"/v1/models/imgclf:classify-image"+tt.query, tt.contentType, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.want) {
				t.Errorf("got %d %s\nwant %d ...%s...", resp.StatusCode, b, tt.wantStatus, tt.want)
			}
		})
	}
}

func TestClassifyImageFileLimit(t *testing.T) {
	_, url := servertest.Start(t, servingtest.NewImageModel(), server.Options{MaxImages: 3})
	post := func(n int) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for i := range n {
			w, _ := mw.CreateFormFile("image", fmt.Sprintf("f%d.png", i))
			w.Write([]byte(servingtest.PNG))
		}
		mw.Close()
		resp, err := http.Post(url+"/v1/models/imgclf:classify-image", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if status, body := post(3); status != 200 || strings.Count(body, `"filename"`) != 3 {
		t.Errorf("3 files at a limit of 3: %d %s", status, body)
	}
	if status, body := post(4); status != 413 || !strings.Contains(body, "more than 3 files") {
		t.Errorf("4 files at a limit of 3: %d %s; want 413 naming the limit", status, body)
	}
}

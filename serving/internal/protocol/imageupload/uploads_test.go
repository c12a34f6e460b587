package imageupload

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/servingtest"
)

// FuzzReadUploads: the :classify-image body reader (raw and multipart).
func FuzzReadUploads(f *testing.F) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("image", "a.png")
	w.Write([]byte(servingtest.PNG))
	mw.Close()
	f.Add(mw.FormDataContentType(), buf.Bytes())
	f.Add("image/png", []byte(servingtest.PNG))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nabc\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r, _ := http.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		images, err := readUploads(r, bytes.NewReader(body), limits{1 << 20, imagecheck.DefaultMaxPixels, DefaultMaxImages})
		if err != nil {
			if code := serving.ErrorCode(err); code != serving.Invalid && code != serving.TooLarge && code != serving.UnsupportedMedia {
				t.Fatalf("error %v has code %q", err, code)
			}
			return
		}
		if len(images) == 0 || len(images) > DefaultMaxImages {
			t.Fatalf("no error and %d images", len(images))
		}
	})
}

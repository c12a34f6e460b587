package imageupload

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/imagecheck"
	"github.com/imgclf/serving/internal/inputcodec"
	"github.com/imgclf/serving/internal/rest"
)

// upload is one image of a :classify-image request.
type upload struct {
	filename string
	data     []byte
}

// readUploads reads the images of a raw or multipart body and checks each.
func readUploads(r *http.Request, body io.Reader, lim limits) ([]upload, error) {
	ct := r.Header.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil && ct != "" {
		return nil, serving.Errorf(serving.UnsupportedMedia, "Content-Type %q does not parse: %v", ct, err)
	}
	var images []upload
	switch mediaType {
	case "image/jpeg", "image/png", "image/gif", "image/bmp", "application/octet-stream", "":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, rest.BodyError(err, lim.maxBodyBytes)
		}
		if len(b) == 0 {
			return nil, serving.Errorf(serving.Invalid, "the request body is empty; send the image file as the body")
		}
		images = append(images, upload{data: b})
	case "multipart/form-data":
		if images, err = readMultipart(multipart.NewReader(body, params["boundary"]), lim); err != nil {
			return nil, err
		}
	default:
		return nil, serving.Errorf(serving.UnsupportedMedia, "Content-Type %q is not supported; send image/jpeg, image/png (the file as the body) or multipart/form-data", mediaType)
	}
	for i, img := range images {
		if _, err := imagecheck.Check(img.data, lim.maxImagePixels); err != nil {
			name := img.filename
			if name == "" {
				name = "image " + strconv.Itoa(i)
			}
			return nil, inputcodec.PrefixError(name, err)
		}
	}
	return images, nil
}

// readMultipart takes every file part of a form, in order.
func readMultipart(mr *multipart.Reader, lim limits) ([]upload, error) {
	var images []upload
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartError(err, lim)
		}
		if part.FileName() == "" {
			part.Close()
			continue // a plain form field
		}
		if len(images) == lim.maxImages {
			part.Close()
			return nil, serving.Errorf(serving.TooLarge, "the form has more than %d files; send at most %d images per request", lim.maxImages, lim.maxImages)
		}
		b, err := io.ReadAll(part)
		part.Close()
		if err != nil {
			return nil, multipartError(err, lim)
		}
		images = append(images, upload{filename: part.FileName(), data: b})
	}
	if len(images) == 0 {
		return nil, serving.Errorf(serving.Invalid, "the multipart form has no file; upload images as file fields (curl -F image=@cat.jpg)")
	}
	return images, nil
}

func multipartError(err error, lim limits) error {
	if tooLarge := rest.BodyTooLarge(err, lim.maxBodyBytes); tooLarge != nil {
		return tooLarge
	}
	return serving.Errorf(serving.Invalid, "malformed multipart body: %v", err)
}

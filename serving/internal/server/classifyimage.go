package server

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/scores"
)

// DefaultTopK is how many classes :classify-image returns without ?k=.
const DefaultTopK = 5

// DefaultMaxImages bounds the files of one :classify-image request: a
// page's worth of photos, and with the body limit a bound on one batch.
const DefaultMaxImages = 64

// classifyImageResponse is :classify-image's reply: one result per image,
// in upload order.
type classifyImageResponse struct {
	Model   string                `json:"model"`
	Version string                `json:"version"`
	Results []classifyImageResult `json:"results"`
}

type classifyImageResult struct {
	Filename    string       `json:"filename,omitempty"`
	Predictions []classScore `json:"predictions"`
}

// upload is one image of a :classify-image request.
type upload struct {
	filename string
	data     []byte
}

// handleClassifyImage serves POST /v1/models/{name}[/versions/{v}]:classify-image
// with a raw image body (Content-Type image/jpeg, image/png, image/gif,
// image/bmp or application/octet-stream) or a multipart/form-data upload of
// one or more files, answering the top k classes (?k=, default 5) of each.
func (s *Server) handleClassifyImage(w http.ResponseWriter, r *http.Request, route modelRoute) {
	k := DefaultTopK
	if q := r.URL.Query().Get("k"); q != "" {
		var err error
		if k, err = strconv.Atoi(q); err != nil || k < 1 {
			writeError(w, r, serving.Errorf(serving.Invalid, "query parameter k=%q: want a positive integer (the number of classes to return)", q))
			return
		}
	}
	lease, ok := s.acquire(w, r, route)
	if !ok {
		return
	}
	defer lease.Release()
	sig := lease.Model.Signature()
	inputKey, err := imageInput(sig)
	if err != nil {
		writeError(w, r, err)
		return
	}
	scoresKey, err := scores.Output(sig)
	if err != nil {
		writeError(w, r, err)
		return
	}
	images, err := readUploads(r, http.MaxBytesReader(w, r.Body, s.limits.maxBodyBytes), s.limits)
	if err != nil {
		writeError(w, r, err)
		return
	}
	t := &serving.Tensor{DType: serving.DTString, Shape: []int64{int64(len(images))}}
	for _, img := range images {
		t.Strings = append(t.Strings, img.data)
	}
	rows, err := s.classify(r, lease, map[string]*serving.Tensor{inputKey: t}, scoresKey)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(rows) != len(images) {
		writeError(w, r, serving.Errorf(serving.Internal, "the model returned %d score rows for %d images", len(rows), len(images)))
		return
	}
	resp := classifyImageResponse{Model: route.Model, Version: strconv.FormatInt(lease.Version, 10)}
	for i, row := range rows {
		resp.Results = append(resp.Results, classifyImageResult{Filename: images[i].filename, Predictions: topK(row, k, lease.Labels)})
	}
	writeJSON(w, http.StatusOK, resp)
}

// imageInput returns the signature's one input, which must take strings.
func imageInput(sig serving.Signature) (string, error) {
	if len(sig.Inputs) == 1 {
		for k, info := range sig.Inputs {
			if info.DType == serving.DTString {
				return k, nil
			}
		}
	}
	return "", serving.Errorf(serving.Invalid, "signature %q takes %s, not one encoded-image string input; use :predict", sig.Name, sigKeys(sig.Inputs))
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
			return nil, bodyError(err, lim.maxBodyBytes)
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
		if _, err := checkImage(img.data, lim.maxImagePixels); err != nil {
			name := img.filename
			if name == "" {
				name = "image " + strconv.Itoa(i)
			}
			return nil, prefixError(name, err)
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
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return bodyError(err, lim.maxBodyBytes)
	}
	return serving.Errorf(serving.Invalid, "malformed multipart body: %v", err)
}

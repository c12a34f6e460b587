package server_test

import (
	"sync/atomic"
	"testing"

	"github.com/imgclf/serving"
	"github.com/imgclf/serving/internal/server"
	"github.com/imgclf/serving/internal/server/servertest"
	"github.com/imgclf/serving/internal/servingtest"
)

func TestPanicIsRecovered(t *testing.T) {
	m := servingtest.NewImageModel()
	var calls atomic.Int32
	good := m.PredictFunc
	m.PredictFunc = func(in map[string]*serving.Tensor) (map[string]*serving.Tensor, error) {
		if calls.Add(1) == 1 {
			panic("kaboom")
		}
		return good(in)
	}
	_, url := servertest.Start(t, m, server.Options{})
	body := `{"instances":[{"b64":"` + servingtest.B64(servingtest.PNG) + `"}]}`
	status, resp, hdr := servertest.Do(t, "POST", url+"/v1/models/imgclf:predict", body)
	servertest.CheckError(t, status, resp, 500, "internal error (request id "+hdr.Get(server.RequestIDHeader)+"); the server logged the details")
	if status, _, _ := servertest.Do(t, "POST", url+"/v1/models/imgclf:predict", body); status != 200 {
		t.Errorf("after a panic the server answered %d, want 200", status)
	}
}

package model

import (
	"testing"

	"github.com/imgclf/serving"
)

func TestStatusError(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		msg     string
		want    serving.Code
		wantMsg string
	}{
		{"ok", tfOK, "", "", ""},
		{"bad image keeps first line", tfInvalidArgument, "Unknown image file format. One of JPEG, PNG, GIF, BMP required.\n\t [[{{node decode}}]]", serving.Invalid, "Unknown image file format. One of JPEG, PNG, GIF, BMP required."},
		{"out of range", tfOutOfRange, "index 5", serving.Invalid, "index 5"},
		{"not found", tfNotFound, "no saved_model.pb", serving.NotFound, "no saved_model.pb"},
		{"deadline", tfDeadlineExceeded, "slow", serving.Timeout, "slow"},
		{"exhausted", tfResourceExhausted, "OOM", serving.Unavailable, "OOM"},
		{"internal keeps detail", 13, "boom\n\t[[node]]", serving.Internal, "boom\n\t[[node]]"},
		{"precondition is ours", tfFailedPrecondition, "uninitialized", serving.Internal, "uninitialized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := statusError(tt.code, tt.msg)
			if got := serving.ErrorCode(err); got != tt.want {
				t.Errorf("code = %q, want %q", got, tt.want)
			}
			if err != nil && err.Error() != tt.wantMsg {
				t.Errorf("message = %q, want %q", err.Error(), tt.wantMsg)
			}
		})
	}
}

func TestConfigProto(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []byte
	}{
		{"defaults", Options{}, nil},
		{"both", Options{IntraOpThreads: 2, InterOpThreads: 1}, []byte{0x10, 2, 0x28, 1}},
		{"inter only", Options{InterOpThreads: 4}, []byte{0x28, 4}},
		{"multi-byte varint", Options{IntraOpThreads: 300}, []byte{0x10, 0xac, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := configProto(tt.opts); string(got) != string(tt.want) {
				t.Errorf("configProto() = %x, want %x", got, tt.want)
			}
		})
	}
}

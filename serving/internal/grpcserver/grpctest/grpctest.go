// Package grpctest serves a gRPC server on a loopback port for tests and
// dials it, stopping both when the test ends.
package grpctest

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Server is what Dial serves: *grpcserver.Server, or a plain *grpc.Server.
type Server interface {
	Serve(net.Listener) error
	Stop()
}

// Dial serves s on 127.0.0.1 and returns a client connection to it.
func Dial(t *testing.T, s Server) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

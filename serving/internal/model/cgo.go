// Package model loads a TensorFlow SavedModel through TensorFlow's C API and
// runs one of its signatures. It is the only cgo package of the predictor:
// everything else sees it through serving.Model.
//
// The C library comes from the tensorflow pip wheel, reached through the
// third_party/tensorflow symlink; the rpath lets the binary find it at run
// time without LD_LIBRARY_PATH.
package model

// #cgo CFLAGS: -I${SRCDIR}/../../third_party/tensorflow/include
// #cgo LDFLAGS: -L${SRCDIR}/../../third_party/tensorflow -l:libtensorflow_cc.so.2 -l:libtensorflow_framework.so.2 -Wl,-rpath,${SRCDIR}/../../third_party/tensorflow
// #include "tfhelpers.h"
import "C"

// Version returns the TensorFlow C library version, e.g. "2.21.0".
func Version() string { return C.GoString(C.TF_Version()) }

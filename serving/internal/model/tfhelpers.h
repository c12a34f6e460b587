// Small C helpers for the cgo wrapper. TF_TString_* are static inline in
// TensorFlow's headers, so cgo cannot call them from Go directly; these wrap
// them, and keep per-element loops in C where they cost nothing.
#ifndef PREDICTOR_TFHELPERS_H_
#define PREDICTOR_TFHELPERS_H_

#include <stdlib.h>
#include "tensorflow/c/c_api.h"

// Allocates a TF_STRING tensor whose n elements are initialised empty.
// TF_AllocateTensor, unlike TF_NewTensor, marks the buffer as owned, so
// TF_DeleteTensor frees each element's heap copy (TensorInterface::Release
// deallocates the TF_TStrings when it holds the last reference): no
// per-element cleanup is needed, and doing it here could free strings that
// TensorFlow still references. Measured: no RSS growth over 800 1 MB images.
static inline TF_Tensor* predictor_new_string_tensor(const int64_t* dims, int ndims, int64_t n) {
  TF_Tensor* t = TF_AllocateTensor(TF_STRING, dims, ndims, (size_t)n * sizeof(TF_TString));
  if (t == NULL) return NULL;
  TF_TString* s = (TF_TString*)TF_TensorData(t);
  for (int64_t i = 0; i < n; i++) TF_TString_Init(&s[i]);
  return t;
}

static inline void predictor_set_string(TF_Tensor* t, int64_t i, const char* p, size_t n) {
  TF_TString_Copy(&((TF_TString*)TF_TensorData(t))[i], p, n);
}

static inline void predictor_get_string(const TF_Tensor* t, int64_t i, const char** p, size_t* n) {
  const TF_TString* s = &((const TF_TString*)TF_TensorData(t))[i];
  *p = TF_TString_GetDataPointer(s);
  *n = TF_TString_GetSize(s);
}

#endif  // PREDICTOR_TFHELPERS_H_

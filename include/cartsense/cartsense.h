/* cartsense C API: the narrow surface for embedding the cart runtime in another program (for
 * example the cart's Android app through JNI). Plain C, no C++ types cross it; every function
 * that can fail returns a cartsense_status and, when given a buffer, writes a message that
 * names what went wrong. Strings are UTF-8 and NUL-terminated. The API grows with the runtime:
 * functions are only added, never changed, within a major version. */
#ifndef CARTSENSE_CARTSENSE_H_
#define CARTSENSE_CARTSENSE_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes; the numbers are part of the ABI. */
typedef enum cartsense_status {
  CARTSENSE_OK = 0,
  CARTSENSE_INVALID_ARGUMENT = 1,
  CARTSENSE_NOT_FOUND = 2,
  CARTSENSE_ALREADY_EXISTS = 3,
  CARTSENSE_OUT_OF_RANGE = 4,
  CARTSENSE_FAILED_PRECONDITION = 5,
  CARTSENSE_DATA_LOSS = 6,
  CARTSENSE_UNAVAILABLE = 7,
  CARTSENSE_CANCELLED = 8,
  CARTSENSE_DEADLINE_EXCEEDED = 9,
  CARTSENSE_INTERNAL = 10,
  CARTSENSE_UNIMPLEMENTED = 11
} cartsense_status;

/* The library version, "MAJOR.MINOR.PATCH". The string is static. */
const char* cartsense_version(void);

/* A short static name for a status code ("OK", "DATA_LOSS", ...). */
const char* cartsense_status_name(cartsense_status status);

/* The newest model bundle folder under `models_root` (e.g. ".../models/recognizer") written to
 * `path_out` (capacity `path_capacity` bytes, including the NUL). CARTSENSE_NOT_FOUND when none
 * is installed; CARTSENSE_OUT_OF_RANGE when the path does not fit (nothing is written then
 * except, if `message` is given, the needed size). */
cartsense_status cartsense_find_newest_bundle(const char* models_root, char* path_out,
                                              size_t path_capacity, char* message,
                                              size_t message_capacity);

/* Verifies every file of a model bundle against the sha256 sums of its manifest.json. On
 * failure `message` (if not NULL) receives an explanation naming the file, truncated to fit. */
cartsense_status cartsense_verify_bundle(const char* bundle_dir, char* message,
                                         size_t message_capacity);

#ifdef __cplusplus
}
#endif

#endif /* CARTSENSE_CARTSENSE_H_ */

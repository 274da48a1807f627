/* Compiled as C (not C++) so the public header is proven to be valid C. */
#include "cartsense/cartsense.h"

int cartsense_test_c_caller(void) {
  char message[64];
  cartsense_status status = cartsense_verify_bundle(NULL, message, sizeof message);
  return status == CARTSENSE_INVALID_ARGUMENT && cartsense_version()[0] != '\0';
}

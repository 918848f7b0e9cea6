/*
 * clawchat-aead.node: AES-256-GCM for ClawChat session packets with one
 * OpenSSL cipher context per key and direction, re-initialised with only a new
 * IV per packet (the documented EVP reuse: EVP_CipherInit_ex with a NULL cipher
 * and key). node:crypto makes a new context, a JavaScript object and three
 * buffers per packet; this writes ciphertext, tag and plaintext into buffers
 * the caller gives.
 *
 * The cryptography is OpenSSL's: the EVP symbols resolve to the OpenSSL inside
 * the running Node process (Node exports them for addons), so the addon links
 * neither libcrypto nor anything but libc. This file is glue and bounds checks.
 *
 * The packet layout is ClawChat's (clawchat/src/wire.ts, protocol §4):
 *   [0, 26)               header, the additional authenticated data
 *   [26, 38)              IV (the 96-bit nonce)
 *   [38, end - 16)        ciphertext
 *   [end - 16, end)       tag
 *
 * Exports (N-API 8):
 *   create(key: Buffer(32)) -> handle
 *   seal(handle, datagram: Buffer, plaintext: Buffer) -> undefined
 *        header and IV are already in `datagram`; writes ciphertext at 38 and the tag after it
 *   open(handle, datagram: Buffer, end: number, out: Buffer) -> boolean
 *        writes the plaintext to out[0, end - 54); false (and out zeroed) when the tag does not verify;
 *        `end` is a whole number from 54 to the datagram's length
 *   destroy(handle) -> undefined   frees both contexts now (OpenSSL cleanses the key schedule)
 *   abi: number                    this file's interface version (ABI_VERSION)
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#define ABI_VERSION 1
#define KEY_LENGTH 32
#define HEADER_LENGTH 26
#define IV_LENGTH 12
#define TAG_LENGTH 16
#define BODY (HEADER_LENGTH + IV_LENGTH)
#define MAX_PACKET 65507

typedef struct {
  EVP_CIPHER_CTX *seal;
  EVP_CIPHER_CTX *open;
} gcm_keys;

/* Marks the externals create() makes, so no other addon's external is ever taken for one (N-API 8 type tags). */
static const napi_type_tag GCM_KEYS_TAG = {0x636c617763686174ULL, 0x6165616467636d31ULL};

/* What OpenSSL holds per handle (two contexts with their GCM state and key schedules), told to V8 so a
 * leaked handle still weighs in its garbage-collection decisions. */
#define NATIVE_BYTES 2560

static void free_keys(gcm_keys *keys) {
  /* EVP_CIPHER_CTX_free cleanses the cipher data (the key schedule) before freeing it. */
  if (keys->seal) EVP_CIPHER_CTX_free(keys->seal);
  if (keys->open) EVP_CIPHER_CTX_free(keys->open);
  keys->seal = NULL;
  keys->open = NULL;
}

/* Frees the contexts once (destroy() or the finalizer, whichever comes first) and gives back the accounted memory. */
static void release_keys(napi_env env, gcm_keys *keys) {
  if (!keys->seal && !keys->open) return;
  free_keys(keys);
  int64_t ignored;
  napi_adjust_external_memory(env, -NATIVE_BYTES, &ignored);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  gcm_keys *keys = data;
  release_keys(env, keys);
  free(keys);
}

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "ERR_CLAWCHAT_AEAD", "N-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_CLAWCHAT_AEAD", message);
  return NULL;
}

static int get_buffer(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return 0;
  void *raw = NULL;
  if (napi_get_buffer_info(env, value, &raw, length) != napi_ok) return 0;
  *data = raw;
  return 1;
}

/* The contexts behind a handle create() made, or NULL (a TypeError is pending) when `value` is not one. */
static gcm_keys *get_handle(napi_env env, napi_value value) {
  napi_valuetype type;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_check_object_type_tag(env, value, &GCM_KEYS_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    fail(env, "handle: expected a handle from create()");
    return NULL;
  }
  return data;
}

/* The live contexts behind a handle, or NULL (a TypeError is pending) when it is not one or was destroyed. */
static gcm_keys *get_keys(napi_env env, napi_value value) {
  gcm_keys *keys = get_handle(env, value);
  if (keys && (!keys->seal || !keys->open)) {
    fail(env, "handle: the key was destroyed");
    return NULL;
  }
  return keys;
}

static int overlaps(const uint8_t *a, size_t a_length, const uint8_t *b, size_t b_length) {
  if (a_length == 0 || b_length == 0) return 0;
  uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
  return a0 < b0 + b_length && b0 < a0 + a_length;
}

static EVP_CIPHER_CTX *new_context(const uint8_t *key, int encrypt) {
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return NULL;
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LENGTH, NULL) != 1 ||
      EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, encrypt) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *key = NULL;
  size_t key_length = 0;
  if (argc < 1 || !get_buffer(env, argv[0], &key, &key_length) || key_length != KEY_LENGTH) return fail(env, "key: expected a Buffer of 32 bytes");
  gcm_keys *keys = calloc(1, sizeof(gcm_keys));
  if (!keys) return fail(env, "out of memory");
  ERR_set_mark();
  keys->seal = new_context(key, 1);
  keys->open = new_context(key, 0);
  ERR_pop_to_mark();
  if (!keys->seal || !keys->open) {
    free_keys(keys);
    free(keys);
    napi_throw_error(env, "ERR_CLAWCHAT_AEAD", "OpenSSL could not set up AES-256-GCM");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, keys, finalize, NULL, &handle) != napi_ok) {
    free_keys(keys);
    free(keys);
    napi_throw_error(env, "ERR_CLAWCHAT_AEAD", "N-API call failed");
    return NULL;
  }
  /* From here the finalizer owns `keys`. */
  int64_t ignored;
  napi_adjust_external_memory(env, NATIVE_BYTES, &ignored);
  CHECK(napi_type_tag_object(env, handle, &GCM_KEYS_TAG));
  return handle;
}

/* seal() and open() begin alike: `expected` arguments, a live handle, then the datagram. NULL with an exception pending otherwise. */
static gcm_keys *handle_and_datagram(napi_env env, napi_callback_info info, size_t expected, napi_value *argv, const char *usage, uint8_t **datagram, size_t *datagram_length) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "ERR_CLAWCHAT_AEAD", "N-API call failed");
    return NULL;
  }
  if (argc < expected) {
    fail(env, usage);
    return NULL;
  }
  gcm_keys *keys = get_keys(env, argv[0]);
  if (keys && !get_buffer(env, argv[1], datagram, datagram_length)) {
    fail(env, "datagram: expected a Buffer");
    return NULL;
  }
  return keys;
}

static napi_value seal(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t *datagram = NULL, *plaintext = NULL;
  size_t datagram_length = 0, plaintext_length = 0;
  gcm_keys *keys = handle_and_datagram(env, info, 3, argv, "seal(handle, datagram, plaintext): 3 arguments expected", &datagram, &datagram_length);
  if (!keys) return NULL;
  if (!get_buffer(env, argv[2], &plaintext, &plaintext_length)) return fail(env, "plaintext: expected a Buffer");
  if (plaintext_length > MAX_PACKET - BODY - TAG_LENGTH) return fail(env, "plaintext: longer than a datagram can carry");
  if (datagram_length < BODY + plaintext_length + TAG_LENGTH) return fail(env, "datagram: shorter than header, IV, ciphertext and tag");
  if (overlaps(datagram, datagram_length, plaintext, plaintext_length)) return fail(env, "plaintext: must not share memory with datagram");
  EVP_CIPHER_CTX *ctx = keys->seal;
  uint8_t *out = datagram + BODY;
  int written = 0, last = 0, ignored = 0;
  ERR_set_mark();
  if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, datagram + HEADER_LENGTH, 1) != 1 ||
      EVP_CipherUpdate(ctx, NULL, &ignored, datagram, HEADER_LENGTH) != 1 ||
      (plaintext_length > 0 && EVP_CipherUpdate(ctx, out, &written, plaintext, (int)plaintext_length) != 1) ||
      EVP_CipherFinal_ex(ctx, out + written, &last) != 1 ||
      (size_t)written + (size_t)last != plaintext_length ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LENGTH, out + plaintext_length) != 1) {
    ERR_pop_to_mark();
    memset(out, 0, plaintext_length + TAG_LENGTH);
    napi_throw_error(env, "ERR_CLAWCHAT_AEAD", "OpenSSL AES-256-GCM encryption failed");
    return NULL;
  }
  ERR_pop_to_mark();
  return NULL;
}

static napi_value open_packet(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint8_t *datagram = NULL, *out = NULL;
  size_t datagram_length = 0, out_length = 0;
  gcm_keys *keys = handle_and_datagram(env, info, 4, argv, "open(handle, datagram, end, out): 4 arguments expected", &datagram, &datagram_length);
  if (!keys) return NULL;
  double end_number = 0;
  if (napi_get_value_double(env, argv[2], &end_number) != napi_ok) return fail(env, "end: expected an integer");
  if (!get_buffer(env, argv[3], &out, &out_length)) return fail(env, "out: expected a Buffer");
  /* Compared as a double first: NaN fails every comparison, so a non-integer or out-of-range value never reaches the cast. */
  if (!(end_number >= BODY + TAG_LENGTH && end_number <= (double)datagram_length && end_number <= MAX_PACKET) || end_number != (double)(size_t)end_number) {
    return fail(env, "end: must be an integer between 54 and the datagram's length");
  }
  size_t end = (size_t)end_number;
  size_t ciphertext_length = end - BODY - TAG_LENGTH;
  if (out_length < ciphertext_length) return fail(env, "out: shorter than the ciphertext");
  if (overlaps(datagram, datagram_length, out, ciphertext_length)) return fail(env, "out: must not share memory with datagram");
  EVP_CIPHER_CTX *ctx = keys->open;
  int written = 0, last = 0, ignored = 0;
  ERR_set_mark();
  int ok = EVP_CipherInit_ex(ctx, NULL, NULL, NULL, datagram + HEADER_LENGTH, 0) == 1 &&
           EVP_CipherUpdate(ctx, NULL, &ignored, datagram, HEADER_LENGTH) == 1 &&
           (ciphertext_length == 0 || EVP_CipherUpdate(ctx, out, &written, datagram + BODY, (int)ciphertext_length) == 1) &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LENGTH, datagram + end - TAG_LENGTH) == 1 &&
           EVP_CipherFinal_ex(ctx, out + written, &last) == 1 &&
           (size_t)written + (size_t)last == ciphertext_length;
  /* Errors this call raised (none are expected, even for a wrong tag) go; older ones in the queue stay. */
  ERR_pop_to_mark();
  if (!ok && ciphertext_length > 0) {
    /* Never hand back plaintext whose tag did not verify. */
    memset(out, 0, ciphertext_length);
  }
  napi_value result;
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

static napi_value destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return fail(env, "handle: expected a handle from create()");
  gcm_keys *keys = get_handle(env, argv[0]);
  if (!keys) return NULL;
  release_keys(env, keys);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_packet, NULL, NULL, NULL, napi_enumerable, NULL},
      {"destroy", NULL, destroy, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties));
  napi_value abi;
  CHECK(napi_create_uint32(env, ABI_VERSION, &abi));
  CHECK(napi_set_named_property(env, exports, "abi", abi));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

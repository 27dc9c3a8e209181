/*
 * TCP_QUICKACK for Node (Linux): acknowledge what a client sent at once rather than
 * after the delayed-ACK timer (40 ms). A client that writes a command in two pieces
 * with Nagle's algorithm on (a literal's data, then its CRLF) holds the second piece
 * until the first is acknowledged; with delayed ACKs every such command waits 40 ms.
 * The kernel turns quick ACKs off again by itself, so callers set it after each reply
 * they send. Node's socket API has no way to set it; this one function does.
 */
#include <node_api.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* quickack(fd: number): boolean — whether the option was set. */
static napi_value quickack(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  int32_t fd = -1;
  int ok = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) {
#ifdef TCP_QUICKACK
    int one = 1;
    ok = setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one) == 0;
#endif
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "quickack", NAPI_AUTO_LENGTH, quickack, NULL, &fn) != napi_ok)
    return NULL;
  if (napi_set_named_property(env, exports, "quickack", fn) != napi_ok) return NULL;
  return exports;
}

/* The whole binary contract between the Simpang hub and a plugin shared library.
 *
 * A plugin is a shared library exporting one symbol, simpang_plugin_entry, which returns a
 * description of the plugin (simpang_plugin_api). The host (the hub, or a plugin host process)
 * dlopens the library, calls the entry, checks the versions, and then drives each plugin instance
 * through create / start / stop / destroy. Everything the plugin needs from the host arrives in a
 * simpang_host_api at create time. Events never cross this header: the plugin's SDK runtime talks
 * to the hub over ZeroMQ (the endpoint and context are host services below).
 *
 * Most plugin authors never read this file: the C++ SDK (simpang/sdk/plugin.h) implements it.
 *
 * Conventions (read these before any declaration below):
 *  1. Pure C. No C++ type, no exception, no allocator crosses this boundary. A plugin catches
 *     everything at its entry points; the C++ SDK does this for you.
 *  2. Versioning. SIMPANG_ABI_MAJOR changes when anything existing changes meaning or layout; the
 *     host refuses a plugin whose major differs from its own. SIMPANG_ABI_MINOR grows when something
 *     is appended; the host accepts a plugin whose minor is at most its own.
 *  3. Growth. Every struct starts with `struct_size` (sizeof as the writer compiled it). Fields are
 *     only ever appended, never inserted, removed or retyped. A reader copies min(struct_size,
 *     sizeof) into a zero-filled struct, so a field the writer did not know reads as 0/NULL.
 *  4. Errors. Functions returning int return 0 for success and non-zero for failure; the reason is
 *     then available from last_error(instance). A returned string is owned by the plugin and valid
 *     until the next call on the same instance.
 *  5. Ownership. Every pointer says OWNERSHIP: who owns it and for how long. Strings are UTF-8 and
 *     NUL-terminated unless a length is given.
 *  6. Threads. The host calls create/start/stop/destroy/last_error of one instance from one thread
 *     at a time. The host's log callback may be called from any thread.
 */
#ifndef SIMPANG_PLUGIN_ABI_H_
#define SIMPANG_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIMPANG_ABI_MAJOR 1
#define SIMPANG_ABI_MINOR 1

/* The name of the one symbol a plugin exports. */
#define SIMPANG_PLUGIN_ENTRY_SYMBOL "simpang_plugin_entry"

/* ---- Types ------------------------------------------------------------------------------------ */

/* Opaque per-instance state of a plugin. OWNERSHIP: the plugin's, from create until destroy. */
typedef struct simpang_instance simpang_instance;

/* Severity of a log line, the same scale as the hub's log levels. */
typedef enum simpang_log_level {
  SIMPANG_LOG_TRACE = 0,
  SIMPANG_LOG_DEBUG = 1,
  SIMPANG_LOG_INFO = 2,
  SIMPANG_LOG_WARN = 3,
  SIMPANG_LOG_ERROR = 4,
  SIMPANG_LOG_CRITICAL = 5
} simpang_log_level;

/* What a plugin does, as the host's configuration checker and status pages show it. */
typedef enum simpang_plugin_kind {
  SIMPANG_KIND_SOURCE = 1,    /* publishes events */
  SIMPANG_KIND_SINK = 2,      /* consumes events */
  SIMPANG_KIND_TRANSFORM = 3  /* consumes and publishes */
} simpang_plugin_kind;

/* What stop() reports. */
typedef enum simpang_stop_result {
  SIMPANG_STOP_CLEAN = 0,        /* stopped; everything published was acknowledged by the hub */
  SIMPANG_STOP_INCOMPLETE = 1,   /* stopped, but left work unfinished (see last_error) */
  SIMPANG_STOP_STILL_RUNNING = 2 /* the deadline passed and its threads are still running */
} simpang_stop_result;

/* ---- Services the host offers (callbacks and values handed to the plugin) ---------------------- */

/* Writes one log line through the host's logger.
 * OWNERSHIP: `message` is borrowed for the duration of the call; it need not be NUL-terminated.
 * Thread rule: may be called from any thread, concurrently. */
typedef void (*simpang_host_log_fn)(void* host_data, simpang_log_level level, const char* message,
                                    size_t message_len);

typedef struct simpang_host_api {
  uint32_t struct_size; /* sizeof(simpang_host_api) as the host compiled it */
  uint32_t abi_major;   /* the host's SIMPANG_ABI_MAJOR */
  uint32_t abi_minor;   /* the host's SIMPANG_ABI_MINOR */
  uint32_t reserved;

  /* OWNERSHIP: the host's, valid until destroy returns. Passed back to `log`. */
  void* host_data;
  simpang_host_log_fn log;

  /* The ZeroMQ context (a libzmq `void*` context) the plugin must create its socket in, so that
   * inproc:// endpoints work. OWNERSHIP: the host's; it outlives the instance. Never terminate it. */
  void* zmq_context;
  /* The hub endpoint the plugin's DEALER socket connects to, e.g. "inproc://simpang-hub" or
   * "ipc:///var/lib/simpang/hub.sock". OWNERSHIP: host's, valid until destroy returns. */
  const char* hub_endpoint;
  /* The instance's name in the configuration; the plugin announces itself with it.
   * OWNERSHIP: host's, valid until destroy returns. */
  const char* instance_name;
  /* The instance's own `config:` section as a JSON document ("{}" when absent).
   * OWNERSHIP: host's, valid until destroy returns; copy what you keep. */
  const char* config_json;
  /* A directory that exists and belongs to this instance alone, for files it keeps across restarts.
   * OWNERSHIP: host's, valid until destroy returns. */
  const char* state_dir;
  /* How often, in milliseconds, the hub expects to hear from the instance when otherwise idle. */
  uint32_t heartbeat_ms;
  /* Since ABI 1.1. The token the hub issued to this run of the instance; the plugin's Hello must
   * carry it, or the hub refuses the connection. A secret: never log it. NULL from an older host.
   * OWNERSHIP: host's, valid until destroy returns. */
  const char* hub_token;
} simpang_host_api;

/* ---- What the plugin exports ------------------------------------------------------------------ */

typedef struct simpang_plugin_api {
  uint32_t struct_size; /* sizeof(simpang_plugin_api) as the plugin compiled it */
  uint32_t abi_major;   /* SIMPANG_ABI_MAJOR the plugin was built against */
  uint32_t abi_minor;   /* SIMPANG_ABI_MINOR the plugin was built against */
  uint32_t kind;        /* a simpang_plugin_kind */

  /* OWNERSHIP: the plugin's, static for the life of the loaded library. */
  const char* name;        /* e.g. "sink-jsonl" */
  const char* version;     /* the plugin's own version, e.g. "1.2.0" */
  const char* description; /* one line for `simpang check` and status pages; may be NULL */

  /* REQUIRED. Creates an instance: parses and validates its configuration, allocates, but does not
   * start threads nor connect. Returns NULL on failure and, if `error` is not NULL, stores there a
   * message describing what is wrong (OWNERSHIP: the plugin's, static or thread-local, valid until
   * the next create call on this thread).
   * OWNERSHIP: `host` is borrowed and stays valid until destroy returns. */
  simpang_instance* (*create)(const simpang_host_api* host, const char** error);

  /* REQUIRED. Starts the instance: it connects to host->hub_endpoint and begins its work on threads
   * of its own. Returns once it has started (not once it has finished). */
  int (*start)(simpang_instance* instance);

  /* REQUIRED. Asks the instance to finish: flush what it publishes, settle what it was delivered,
   * say Bye, and stop its threads, all within `deadline_ms`. Returns a simpang_stop_result. After
   * SIMPANG_STOP_STILL_RUNNING the host must not unload the library (code of it is still running);
   * it may call destroy, which then waits for the instance's threads to end. */
  int (*stop)(simpang_instance* instance, uint32_t deadline_ms);

  /* REQUIRED. Frees the instance. REQUIRES: stop returned, or start was never called. */
  void (*destroy)(simpang_instance* instance);

  /* REQUIRED. The reason for the instance's last failure, or NULL if none.
   * OWNERSHIP: the plugin's, valid until the next call on the same instance. */
  const char* (*last_error)(simpang_instance* instance);
} simpang_plugin_api;

/* The one exported entry point. Returns a description owned by the plugin, static for the life of
 * the loaded library. The host reads its first struct_size bytes (convention 3). */
typedef const simpang_plugin_api* (*simpang_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SIMPANG_PLUGIN_ABI_H_ */

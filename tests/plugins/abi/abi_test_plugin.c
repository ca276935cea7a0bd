/* A deliberately minimal plugin for the hub's ABI checks, compiled once per variant with different
 * definitions (see CMakeLists.txt). It never starts: create refuses with a message, so nothing
 * here pretends to work. Plain C and no SDK, so each variant controls its description exactly.
 *
 * Definitions: TEST_PLUGIN_NAME (string), TEST_ABI_MAJOR, TEST_ABI_MINOR, TEST_KIND, and optionally
 * TEST_NO_ENTRY (export no entry symbol), TEST_ENTRY_RETURNS_NULL, TEST_NULL_CREATE (leave a
 * required function NULL), TEST_STRUCT_SIZE (override struct_size). */
#include <stddef.h>

#include "simpang/plugin_abi.h"

#define TEST_EXPORT __attribute__((visibility("default")))
/* Some variants leave a definition unreferenced on purpose (no entry, NULL create). */
#define TEST_MAYBE_UNUSED __attribute__((unused))

TEST_MAYBE_UNUSED static simpang_instance* test_create(const simpang_host_api* host,
                                                       const char** error) {
  (void)host;
  if (error != NULL) {
    *error = TEST_PLUGIN_NAME " is an ABI test plugin and cannot run";
  }
  return NULL;
}

/* The instance functions are unreachable (create never succeeds) but must be non-NULL. */
static int test_start(simpang_instance* instance) {
  (void)instance;
  return 1;
}

static int test_stop(simpang_instance* instance, uint32_t deadline_ms) {
  (void)instance;
  (void)deadline_ms;
  return 1;
}

static void test_destroy(simpang_instance* instance) { (void)instance; }

static const char* test_last_error(simpang_instance* instance) {
  (void)instance;
  return TEST_PLUGIN_NAME " is an ABI test plugin and cannot run";
}

#ifndef TEST_STRUCT_SIZE
#define TEST_STRUCT_SIZE sizeof(simpang_plugin_api)
#endif

TEST_MAYBE_UNUSED static const simpang_plugin_api kDescription = {
    TEST_STRUCT_SIZE,
    TEST_ABI_MAJOR,
    TEST_ABI_MINOR,
    TEST_KIND,
    TEST_PLUGIN_NAME,
    "0.0.1",
    "a plugin that exists only to test the hub's ABI checks",
#ifdef TEST_NULL_CREATE
    NULL,
#else
    test_create,
#endif
    test_start,
    test_stop,
    test_destroy,
    test_last_error,
};

#ifndef TEST_NO_ENTRY
TEST_EXPORT const simpang_plugin_api* simpang_plugin_entry(void) {
#ifdef TEST_ENTRY_RETURNS_NULL
  return NULL;
#else
  return &kDescription;
#endif
}
#else
/* Something exported, so the library is a normal module that just lacks the entry. */
TEST_EXPORT const simpang_plugin_api* not_the_plugin_entry(void) { return &kDescription; }
#endif

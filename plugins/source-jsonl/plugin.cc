// Exports JsonlSource as the plugin "source-jsonl". Kept apart from the class so tests can link the
// class without the ABI entry point.
#include "source_jsonl.h"

SIMPANG_PLUGIN(simpang::plugins::source_jsonl::JsonlSource, "source-jsonl", "1.0.0",
               "publishes CloudEvents JSON lines read from a file, keeping its place as a cursor")

// Exports JsonlSink as the plugin "sink-jsonl". Kept apart from the class so tests can link the
// class without the ABI entry point.
#include "sink_jsonl.h"

SIMPANG_PLUGIN(simpang::plugins::sink_jsonl::JsonlSink, "sink-jsonl", "1.0.0",
               "appends every event to a file as CloudEvents JSON, one per line")

// Exports SourceHttp as the plugin "source-http". Kept apart from the class so tests can link the
// class without the ABI entry point.
#include "source_http.h"

SIMPANG_PLUGIN(simpang::plugins::source_http::SourceHttp, "source-http", "1.0.0",
               "receives CloudEvents over HTTP (binary, structured, batched) from partner clients")

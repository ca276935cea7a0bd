// Exports WebhookSink as the plugin "sink-webhook". Kept apart from the class so tests can link
// the class without the ABI entry point.
#include "sink_webhook.h"

SIMPANG_PLUGIN(simpang::plugins::sink_webhook::WebhookSink, "sink-webhook", "1.0.0",
               "delivers events as signed CloudEvents webhooks (Standard Webhooks) to a URL")

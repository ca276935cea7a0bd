// Exports TalentLedger as the plugin "talent-ledger". Kept apart from the class so tests can link
// the class without the ABI entry point.
#include "talent_ledger.h"

SIMPANG_PLUGIN(simpang::plugins::talent_ledger::TalentLedger, "talent-ledger", "0.1.0",
               "materialises the programme's talent events, links identities, answers how far the "
               "programme is")

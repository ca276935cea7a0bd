// Exports HrScim as the plugin "hr-scim"; apart from the class so tests can link it alone.
#include "hr_scim.h"

SIMPANG_PLUGIN(simpang::plugins::hr_scim::HrScim, "hr-scim", "1.0.0",
               "a SCIM 2.0 service provider: HR systems push Users and Groups; talent events out")

// Exports SimProgramme as the plugin "sim-programme". Kept apart from the class so tests can link
// the class without the ABI entry point.
#include "sim_programme.h"

SIMPANG_PLUGIN(simpang::plugins::sim_programme::SimProgramme, "sim-programme", "1.0.0",
               "simulates the AI-talent programme: partners, courses, learners, enrollments, "
               "completions and jobs, from a fixed seed")

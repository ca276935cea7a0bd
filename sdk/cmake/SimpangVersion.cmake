# The one version number of Simpang: the project() of the whole tree and of sdk/ built on its own
# both read it, so an SDK installed either way carries the same version (and soname).
set(SIMPANG_VERSION 0.1.0)

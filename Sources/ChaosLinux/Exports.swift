// ChaosLinux builds on ChaosPOSIX (the file, clock, limit and exec primitives every layer may use) and
// hands it on: a module that acts on the host through ChaosLinux also has `POSIXFiles`, `Errno`,
// `ResourceLimits`... without naming a second module. Modules that must not link libsystemd (the store,
// the PKI, the engine) import ChaosPOSIX alone.
@_exported import ChaosPOSIX

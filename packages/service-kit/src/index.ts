export { exitOnFatalError, exitOnSignals, type ExitOnSignalsOptions, type ServiceLogger, type ServiceProcess } from "./process-lifecycle.js";

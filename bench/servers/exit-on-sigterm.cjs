// Preloaded (`node --require`) into the handout's peer servers when the bench profiles them: they
// have no SIGTERM handler, so the default action would kill them before `--cpu-prof` writes its file.
process.on("SIGTERM", () => process.exit(0));

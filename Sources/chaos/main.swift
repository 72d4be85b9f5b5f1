import ChaosCLI

await ChaosMain.run()

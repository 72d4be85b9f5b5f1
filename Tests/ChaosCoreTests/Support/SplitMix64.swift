/// The seeds every property test runs with; fixed, so a red run stays red.
let propertySeeds: [UInt64] = [1, 42, 0xC0FFEE, 0xDEAD_BEEF, 20_260_101]

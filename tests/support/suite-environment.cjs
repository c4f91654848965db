// The node test environment that knows its suite's path (relative to the repository), for the opt-in
// scan environments (handle-scan-environment.cjs, heap-scan-environment.cjs) to name what they report on.
const { TestEnvironment } = require('jest-environment-node');

class SuiteEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.suite = context.testPath.slice(config.projectConfig.rootDir.length + 1);
  }
}

module.exports = { SuiteEnvironment };

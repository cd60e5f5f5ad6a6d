'use strict';
// The action's main step: log in, read, mask, export.
require('./run')([], false);

#!/usr/bin/env node
// The installed `molt` command: runs the built CLI (dist/cli/main.js, from `npm run build`).
import '../dist/cli/main.js';

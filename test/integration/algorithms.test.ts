/** Every shipped algorithm on real Docker containers (the scenarios, shared with the Swarm suite, are in scenarios/algorithms.ts). */
import { algorithmsPassTheirOracles } from './scenarios/algorithms.js';

algorithmsPassTheirOracles('docker');

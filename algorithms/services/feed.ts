/**
 * The RSS feed service of thesis §3.4: asked for a topic, it answers the latest headline. It registers itself
 * as `feed` in the service registry. See lib/lookup-service.ts.
 */
import { lookupService } from '../lib/lookup-service.js';

export default lookupService({
  name: 'feed',
  description: 'A microservice that answers a topic with its latest headline; registered as "feed" in the service registry.',
  answers: {
    campus: 'UOIT opens its new research lab',
    science: 'Containers make distributed testbeds cheap',
    transit: 'GO trains to Oshawa run every 30 minutes',
  },
});

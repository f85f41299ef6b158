/**
 * The weather service of thesis §3.4: asked for a city, it answers the city's forecast. It registers itself
 * as `weather` in the service registry, and with stopAfterMs it leaves the registry part-way through the run,
 * as the thesis' weather container did when it was stopped (Figure 19). See lib/lookup-service.ts.
 */
import { lookupService } from '../lib/lookup-service.js';

export default lookupService({
  name: 'weather',
  description: 'A microservice that answers a city with its forecast; registered as "weather" in the service registry.',
  answers: {
    Oshawa: 'sunny, 21 °C',
    Toronto: 'cloudy, 19 °C',
    Ottawa: 'rain, 16 °C',
    Kingston: 'windy, 18 °C',
  },
});

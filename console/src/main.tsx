import { render } from 'preact';

render(<main>Latchkey console</main>, document.getElementById('app') as HTMLElement);

import { useEffect, useRef } from 'react';
import { computeSpectrogram, mixToMono, renderSpectrogram } from '../audio/spectrogram';

const WIDTH = 720;
const HEIGHT = 180;

/** The spectrogram of decoded audio, as a picture with a text alternative. */
export function SpectrogramCanvas({ audio, label }: { audio: AudioBuffer; label: string }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const canvas = canvasRef.current;
    const context = canvas?.getContext('2d');
    if (!canvas || !context) return;
    const channels = Array.from({ length: audio.numberOfChannels }, (_, index) => audio.getChannelData(index));
    const spectrogram = computeSpectrogram(mixToMono(channels), audio.sampleRate, { fftSize: 2048, columns: WIDTH });
    const pixels = renderSpectrogram(spectrogram, WIDTH, HEIGHT);
    context.putImageData(new ImageData(new Uint8ClampedArray(pixels), WIDTH, HEIGHT), 0, 0);
  }, [audio]);

  return (
    <figure className="spectrogram">
      <canvas
        ref={canvasRef}
        width={WIDTH}
        height={HEIGHT}
        role="img"
        aria-label={`Spectrogram of ${label}: time left to right, frequency from 30 Hz at the bottom to ${Math.round(audio.sampleRate / 2000)} kHz at the top on a logarithmic scale`}
      />
      <figcaption>Spectrogram (log frequency, {audio.duration.toFixed(1)} s)</figcaption>
    </figure>
  );
}

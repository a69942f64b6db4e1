import { useEffect, useId, useRef, useState, type MouseEvent, type RefObject } from 'react';
import WaveSurfer from 'wavesurfer.js';
import type { GenerationResource as Generation } from '@chorus/contracts';
import { AudioStoreError, fetchGenerationAudio } from '../audio/fetch-audio';
import { describeError } from '../errors';
import { useClient } from '../session';
import { ErrorMessage } from './ErrorMessage';
import { SpectrogramCanvas } from './SpectrogramCanvas';

export interface PlayerControls {
  play(): Promise<void>;
  pause(): void;
}

interface WaveformPlayerProps {
  generation: Generation;
  label: string;
  showSpectrogram?: boolean;
  /** lets a parent (the comparison view) start and stop this player */
  controlsRef?: RefObject<PlayerControls | null>;
  onFinish?(): void;
}

/**
 * The finished audio: waveform (wavesurfer.js) over a real <audio> element, play/pause,
 * download, and optionally the spectrogram of the same decoded samples.
 */
export function WaveformPlayer({ generation, label, showSpectrogram = true, controlsRef, onFinish }: WaveformPlayerProps) {
  const client = useClient();
  const waveformRef = useRef<HTMLDivElement>(null);
  const audioRef = useRef<HTMLAudioElement>(null);
  const surferRef = useRef<WaveSurfer | null>(null);
  const onFinishRef = useRef(onFinish);
  onFinishRef.current = onFinish;
  // The decoded bytes as a blob: URL (saved without fetching again), or, when the page may not
  // read the bucket, the presigned attachment URL, which saves the file as a plain navigation.
  const [download, setDownload] = useState<{ url: string; attachment: boolean } | null>(null);
  const [decoded, setDecoded] = useState<AudioBuffer | null>(null);
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const timeId = useId();

  useEffect(() => {
    const container = waveformRef.current;
    const media = audioRef.current;
    if (!container || !media) return;
    const abort = new AbortController();
    let url: string | null = null;
    const surfer = WaveSurfer.create({
      container,
      media,
      height: 96,
      waveColor: '#7c8bd6',
      progressColor: '#2f3d9e',
      cursorColor: '#111',
      normalize: true,
      dragToSeek: true,
    });
    surferRef.current = surfer;
    const subscriptions = [
      surfer.on('play', () => setPlaying(true)),
      surfer.on('pause', () => setPlaying(false)),
      surfer.on('finish', () => {
        setPlaying(false);
        onFinishRef.current?.();
      }),
      surfer.on('timeupdate', (seconds) => setTime(seconds)),
      surfer.on('decode', () => setDecoded(surfer.getDecodedData())),
    ];

    setLoading(true);
    setError(null);
    setNotice(null);
    fetchGenerationAudio(client, generation, abort.signal)
      .then(async (blob) => {
        url = URL.createObjectURL(blob);
        setDownload({ url, attachment: false });
        await surfer.load(url);
      })
      .catch((caught: unknown) => {
        if (abort.signal.aborted) return;
        if (caught instanceof AudioStoreError && caught.blocked) {
          // A media element may play a cross-origin file that fetch may not read: play it
          // directly, and say why there is no waveform or spectrogram.
          media.src = caught.url;
          setDownload({ url: caught.downloadUrl, attachment: true });
          setNotice(`The waveform and spectrogram are unavailable: ${caught.message} The audio plays directly from the store.`);
          return;
        }
        setError(`The audio could not be loaded. ${describeError(caught).message}`);
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });

    return () => {
      abort.abort();
      subscriptions.forEach((unsubscribe) => unsubscribe());
      surfer.destroy();
      surferRef.current = null;
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, generation.id]);

  useEffect(() => {
    if (!controlsRef) return;
    controlsRef.current = {
      play: async () => {
        surferRef.current?.setTime(0);
        await surferRef.current?.play();
      },
      pause: () => surferRef.current?.pause(),
    };
    return () => {
      controlsRef.current = null;
    };
  }, [controlsRef]);

  // Presigned URLs expire: ask for a fresh one when the link is used, keeping the old one as a fallback.
  const saveWithFreshUrl = (event: MouseEvent<HTMLAnchorElement>) => {
    event.preventDefault();
    const fallback = event.currentTarget.href;
    client.getGeneration(generation.id).then(
      (latest) => window.location.assign(latest.audio?.download_url ?? fallback),
      () => window.location.assign(fallback),
    );
  };

  const format = generation.audio?.format ?? generation.output_format ?? 'wav';
  const duration = decoded?.duration ?? generation.audio?.seconds ?? 0;

  return (
    <div className="player">
      {/* The element wavesurfer drives; visible controls are the buttons below. */}
      <audio ref={audioRef} preload="auto" aria-label={`Audio of ${label}`} data-generation-id={generation.id} />
      <div ref={waveformRef} className="waveform" role="img" aria-label={`Waveform of ${label}`} data-testid="waveform" />
      <div className="player-controls">
        <button type="button" onClick={() => void surferRef.current?.playPause()} disabled={loading || Boolean(error)} aria-describedby={timeId}>
          {playing ? 'Pause' : 'Play'}
          <span className="visually-hidden"> {label}</span>
        </button>
        <span id={timeId} className="time" aria-live="off">
          {formatSeconds(time)} / {formatSeconds(duration)}
        </span>
        {download ? (
          <a className="button secondary" href={download.url} download={`${generation.id}.${format}`} onClick={download.attachment ? saveWithFreshUrl : undefined}>
            Download {format.toUpperCase()}
            <span className="visually-hidden"> of {label}</span>
          </a>
        ) : null}
        {loading && <span role="status">Loading audio…</span>}
      </div>
      <ErrorMessage message={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {showSpectrogram && decoded && <SpectrogramCanvas audio={decoded} label={label} />}
    </div>
  );
}

function formatSeconds(seconds: number): string {
  const whole = Math.max(0, seconds);
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${(whole - minutes * 60).toFixed(1).padStart(4, '0')}`;
}

// Staff manage a product's pictures: upload (the catalog keeps them, re-encoded, with a
// thumbnail) and remove. The shop's lists show the thumbnails.
import { useMutation } from "@tanstack/react-query";
import { useRef } from "react";
import { api, call, type Product } from "../api/client";
import { Button, Card, FormError } from "./ui";

const OWN_IMAGES = "/api/catalog/images/";
const ACCEPTED = "image/jpeg,image/png,image/webp";

/** The thumbnail of an image the catalog stores; other (own-origin) images as they are. */
export function thumbnailOf(src: string): string {
  return src.startsWith(OWN_IMAGES) ? `${src}/thumbnail` : src;
}

export function ProductImages({ product, onChange }: { product: Product; onChange: (product?: Product) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const upload = useMutation({
    mutationFn: (file: File) =>
      call(
        api.POST("/api/catalog/images", {
          params: { query: { product_id: product.id } },
          // The file's bytes as the body: the catalog reads the type from them.
          body: file as unknown as string,
          bodySerializer: (body: unknown) => body as BodyInit,
          headers: { "Content-Type": file.type || "application/octet-stream" },
        }),
      ),
    onSuccess: (saved) => onChange(saved),
    onSettled: () => {
      if (input.current) input.current.value = "";
    },
  });
  const remove = useMutation({
    mutationFn: (src: string) =>
      call(api.DELETE("/api/catalog/images/{image_id}", { params: { path: { image_id: src.slice(OWN_IMAGES.length) } } })),
    onSuccess: () => onChange(),
  });

  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Images</h2>
      {product.images.length === 0 && <p className="mb-2 text-sm text-slate-600">No images yet.</p>}
      <ul className="mb-3 grid grid-cols-3 gap-2" data-testid="product-images">
        {product.images.map((src, index) => (
          <li key={src} className="flex flex-col gap-1">
            <img src={thumbnailOf(src)} alt={`${product.name}, picture ${index + 1}`} className="h-20 w-full rounded object-cover" />
            {src.startsWith(OWN_IMAGES) && (
              <Button type="button" variant="secondary" busy={remove.isPending && remove.variables === src} onClick={() => remove.mutate(src)}>
                Remove
              </Button>
            )}
          </li>
        ))}
      </ul>
      <label className="flex flex-col gap-1 text-sm font-medium">
        Upload an image (JPEG, PNG or WebP, up to 5 MB)
        <input
          ref={input}
          type="file"
          accept={ACCEPTED}
          disabled={upload.isPending}
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) upload.mutate(file);
          }}
        />
      </label>
      {upload.isPending && <p role="status" className="text-sm">Uploading…</p>}
      <FormError error={upload.error ?? remove.error} />
    </Card>
  );
}
